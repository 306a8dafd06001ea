# What real runbooks need (issue 17): per-host values, captures, idempotent edits,
# templated uploads, secrets from a command. No diagnostics.
runbook "real" version "1.0.0"

var home = "/srv/app"
secret api_token = command "pass show prod/api"
host web = [
  "app@w1.example.org" { role = "primary" weight = 3 },
  "app@w2.example.org:2222" { role = "replica" weight = 1 },
]
host db = "dba@db.example.org"
database appdb = sqlite "${home}/app.sqlite" on db

env staging {
  host web = ["app@s1.example.org" { role = "primary" weight = 1 }]
}
env prod {
}

step "Revision before" as before on db {
  run "cat ${home}/REVISION" into revision_before
  sql appdb "select max(id) from orders" into last_order
  run "cat ${home}/session.key" into secret session_key
  run "echo ${revision_before}"
  undo "echo back to ${revision_before}"
}

step "Configure" as configure on web {
  upload template "app.conf.tpl" to "${home}/app.conf"
  run "echo ${host.name} ${host.address} ${host.user} is ${host.role}, weight ${host.weight}, after ${revision_before}"
  require output "cat ${home}/ROLE" == "${host.role}"
  edit "${home}/app.ini" {
    replace "revision = old" with "revision = ${revision_before}"
    replace "key = none" with "key = ${session_key}"
  }
  sql appdb "insert into audit (host, token, last) values (${host.name}, ${api_token}, ${last_order})"
  parallel 2
}
