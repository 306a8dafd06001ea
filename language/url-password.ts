// The one place that hides the password of a URL (`scheme://user:password@host…`)
// in text that is shown: messages, diagnostics, plans, the journal's location.
// Every URL in the text is masked, not only well-formed ones: a password that
// holds `/`, `@` or `#` (`mysql://u:pass/word@host/db`) is masked up to the last
// `@` of the URL, as a URL parser reads the user part; when in doubt more is
// masked, never less. In language/ because it is the lowest layer: the checker,
// the runtime and the CLI all use it.

/** A URL's scheme and `//`, then the rest of it (up to a space or a quote). */
const URL_TOKEN = /([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^\s'"`<>]*)/g;

/** The text with the password of every URL in it replaced by `***` (`mysql://u:***@host/db`). */
export function maskUrlPasswords(text: string): string {
  if (!text.includes("://")) return text;
  return text.replace(URL_TOKEN, (whole, scheme: string, rest: string) => {
    const at = rest.lastIndexOf("@");
    if (at < 0) return whole;
    const colon = rest.indexOf(":");
    if (colon < 0 || colon >= at - 1) return whole; // no password, or an empty one
    if (rest.slice(0, colon).includes("[")) return whole; // a pattern such as `mysql://user[:password]@host`, not a URL
    if (/^\$\{[^}]*\}$/.test(rest.slice(colon + 1, at))) return whole; // a runbook's `${name}`: a reference, not a value
    return `${scheme}${rest.slice(0, colon)}:***${rest.slice(at)}`;
  });
}

/** Whether a URL names a password (`scheme://user:password@…`). */
export function urlHasPassword(url: string): boolean {
  return maskUrlPasswords(url) !== url;
}
