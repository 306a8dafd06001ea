runbook "bad-value" version "1.0.0"

host portal  = "haiti@"
host workers = []
host mixed   = ["app@w1.example.org", 42]
database appdb = mysql "postgres://app@127.0.0.1/app"

step "Export" {
  export appdb tables ["users", 3] to "backup.csv"
}
