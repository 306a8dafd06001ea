runbook "unknown-host" version "1.0.0"

host portal = "haiti@haiti.example.org"
database appdb = mysql "mysql://app@127.0.0.1/app" via portl
database local = sqlite "/tmp/x.sqlite" on nowhere

step "Pull" on portla {
  require succeeds "test -d /srv" on protal
  run "bzr pull"
}
