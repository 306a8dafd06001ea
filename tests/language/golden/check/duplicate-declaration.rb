runbook "duplicate-declaration" version "1.0.0"

include "lib-common.rb"

var home = "/home/haiti"
var app  = "prod"
param home = "/srv/haiti"

env dev {
  var app = "dev"
  var app = "test"
}
