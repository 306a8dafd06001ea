runbook "golden" version "1.0.0"

# Keywords are reserved: a name that is one is an error that says so.
param version = "1.2.0"
host file = "deploy@app.example.org"

step "Deploy" as edit {
  run "deploy"
}
