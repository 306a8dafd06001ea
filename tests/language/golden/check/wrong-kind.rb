runbook "wrong-kind" version "1.0.0"

var  home   = "/home/haiti"
host portal = "haiti@haiti.example.org"
database appdb = mysql "mysql://app@127.0.0.1/app" password home via appdb
var  target = "${portal}:${home}"

env prod {}

step "Data" on appdb {
  sql portal "select 1"
  note "copying ${prod.portal}"
}
step "Guard" when portal == "x" {
  note "never"
}
