// Every diagnostic's wording, in one place. The lexer, parser, include resolver
// and checker build messages only through these functions, so wording stays
// consistent and golden files change in one place.

const q = (s: string) => `\`${s}\``;

export const messages = {
  // ---------------------------------------------------------------- lexer / parser
  // ---------------------------------------------------------------- includes
  // ---------------------------------------------------------------- checker
  didYouMean: (name: string) => `did you mean ${q(name)}?`,
};
