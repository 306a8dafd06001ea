runbook "duplicate-env" version "1.0.0"

var home = "/home/haiti"

env dev { var home = "/home/dev" }
env prod {}
env dev { var home = "/home/dev2" }
