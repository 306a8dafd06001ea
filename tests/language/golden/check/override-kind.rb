runbook "override-kind" version "1.0.0"

var  home   = "/home/haiti"
host portal = "haiti@haiti.example.org"

env dev {
  var portal = "haiti-dev@logistics.example.org"
  param home = "/home/haiti-dev"
}
