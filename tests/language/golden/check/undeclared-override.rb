runbook "undeclared-override" version "1.0.0"

var home = "/home/haiti"

env dev {
  var hmoe = "/home/haiti-dev"
  host portal = "dev@example.org"
}
