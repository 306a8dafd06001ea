runbook "secret-exposed" version "1.0.0"

secret db_password = env "DB_PASSWORD"
var dsn = "mysql://app:${db_password}@127.0.0.1/app"
database appdb = mysql "mysql://app@127.0.0.1/app" password db_password

step "Set the password ${db_password}" {
  run "mysql -p${db_password} -e 'select 1'"
  sql appdb "SET PASSWORD = ${db_password}"
  note "the password is ${db_password}"
  confirm "Is ${db_password} right?"
  upload "secrets/${db_password}.txt" to "/tmp/pw"
}
