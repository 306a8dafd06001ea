runbook "raw-input" version "1.0.0"

param branch = "main"
var   home   = "/srv/app"
var   tag    = "release-${branch}"
secret token = env "DEPLOY_TOKEN"
database appdb = sqlite "/srv/app.sqlite"

step "Deploy" {
  run "cd ${raw home} && git checkout ${raw branch}"
  run "curl -H 'Authorization: ${raw token}' https://example.org/hook"
  run "git tag ${raw tag} && git push origin ${tag}"
  sql appdb "SELECT * FROM ${raw branch}_log"
}
