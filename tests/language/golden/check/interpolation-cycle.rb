runbook "interpolation-cycle" version "1.0.0"

var a = "${b}/x"
var b = "${a}/y"
var self = "${self}!"
var web2py = "${home}/web2py"
var home = "/home/haiti"

env dev {
  var home = "${web2py}/.."
}
env prod {}
