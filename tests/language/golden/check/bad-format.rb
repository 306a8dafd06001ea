runbook "bad-format" version "1.0.0"

database appdb = sqlite "app.sqlite"

step "Back up" {
  export appdb to "backup.xml" format xml
  export appdb to "backup.csv" format csv
  export appdb to "backup.web2py" format web2py
  import appdb from "backup.csv"
  import nodb from "backup.csv"
}
