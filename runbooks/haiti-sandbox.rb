# The Haiti release in a sandbox: the seed's world (the Prod, UAT and Dev web2py
# instances, a system crontab, the Apache sites, the Haiti branch) laid out under
# a local folder, then the release itself, the steps of lib/haiti-release.rb that
# haiti-release.rb runs on the real hosts, run on it. Every host here is `local`:
# no network, sshd, sudo or MariaDB. The stand-ins for web2py and bzr and the
# other files are in runbooks/sandbox/ (see its README.md), so run it from the
# repository's root:
#
#   runbook run runbooks/haiti-sandbox.rb --yes               # lay out, then release Dev
#   runbook run runbooks/haiti-sandbox.rb --env uat --yes     # UAT (testers' note, sync from Prod)
#   runbook run runbooks/haiti-sandbox.rb --env prod --yes    # Prod (no sync; its settings checked)
#   runbook run runbooks/haiti-sandbox.rb --set sandbox=/tmp/elsewhere --yes
#
# Each run lays out a fresh world first, so a run never depends on an earlier one.
runbook "haiti-sandbox" version "1.0.0"
description "The Haiti release on a local sandbox of its world: lay out Prod, UAT and Dev, then release one"
owner "release-group"
default env dev

param sandbox      = "/tmp/runbook-sandbox-${run.user}"
param branch       = "${sandbox}/branch"
param revision     = "547"
var files          = "runbooks/sandbox"
var home           = "${sandbox}/home/haiti"
var app            = "prod"
var web2py         = "${home}/web2py"
var appdir         = "${web2py}/applications/${app}"
var site           = "${sandbox}/etc/apache2/sites-enabled/prod"
var url            = "file://${home}/www/index.html"
var draft          = "careful"
var crontab        = "${sandbox}/etc/crontab"
var crontab_user   = "${run.user}"
var python         = "python3"
var bzr            = "${sandbox}/bin/bzr"
var backups        = "${sandbox}/backups"
host portal        = local
database appdb     = sqlite "${appdir}/databases/storage.sqlite" on portal
database prod_data = sqlite "${sandbox}/home/haiti/web2py/applications/prod/databases/storage.sqlite"
database uat_data  = sqlite "${sandbox}/home/haiti-test/web2py/applications/test/databases/storage.sqlite"
database dev_data  = sqlite "${sandbox}/home/haiti-dev/web2py/applications/dev/databases/storage.sqlite"

env dev {
  var home  = "${sandbox}/home/haiti-dev"
  var app   = "dev"
  var site  = "${sandbox}/etc/apache2/sites-enabled/haiti-dev"
  var draft = "first draft of the"
}

env uat {
  var home  = "${sandbox}/home/haiti-test"
  var app   = "test"
  var site  = "${sandbox}/etc/apache2/sites-enabled/haiti-test"
  var draft = "more detailed"
}

env prod {}

section "Lay out the sandbox" {
  step "Lay out the seed's world" as lay_out {
    require exists "${files}/web2py.py" else "run the sandbox from the repository's root: its files are in ${files}/"
    confirm "Lay out a fresh sandbox in ${sandbox} (replacing what an earlier run left there)?"
    # The files anew; each instance's databases folder is kept (moved aside and
    # back: runbook may hold its database open) and emptied below.
    run """
      set -eu
      case ${sandbox} in /*) ;; *) echo "the sandbox must be an absolute path, not ${sandbox}" >&2; exit 2 ;; esac
      rm -rf ${sandbox}/etc ${sandbox}/bin ${branch}
      mkdir -p ${sandbox}/bin ${sandbox}/etc/apache2/sites-enabled ${backups}
      cp ${files}/bzr ${bzr}
      cp ${files}/crontab ${crontab}
      cp -R ${files}/branch ${branch}
      for instance in haiti:prod:prod haiti-test:test:haiti-test haiti-dev:dev:haiti-dev; do
        user=$(echo "$instance" | cut -d: -f1)
        app=$(echo "$instance" | cut -d: -f2)
        site=$(echo "$instance" | cut -d: -f3)
        h=${sandbox}/home/$user
        a=$h/web2py/applications/$app
        kept=${sandbox}/databases-of-$app
        rm -rf "$kept"
        if [ -d "$a/databases" ]; then mv "$a/databases" "$kept"; else mkdir -p "$kept"; fi
        rm -rf "$h"
        mkdir -p "$a/models" "$a/.bzr" "$h/www"
        mv "$kept" "$a/databases"
        cp ${files}/web2py.py "$h/web2py/web2py.py"
        cp ${files}/maintenance.on ${files}/maintenance.off "$h/"
        cp -R ${branch}/r540/. "$a/"
        echo 540 > "$a/.bzr/revno"
        echo ${branch} > "$a/.bzr/parent"
        echo "<h1>Sahana Haiti: $app</h1>" > "$h/www/index.html"
        printf '<VirtualHost *:80>\n  DocumentRoot %s\n</VirtualHost>\n' "$h/www" > ${sandbox}/etc/apache2/sites-enabled/$site
      done
    """
    sql prod_data "DROP TABLE IF EXISTS org_organisation; DROP TABLE IF EXISTS pr_person; DROP TABLE IF EXISTS rms_req"
    sql uat_data "DROP TABLE IF EXISTS org_organisation; DROP TABLE IF EXISTS pr_person; DROP TABLE IF EXISTS rms_req"
    sql dev_data "DROP TABLE IF EXISTS org_organisation; DROP TABLE IF EXISTS pr_person; DROP TABLE IF EXISTS rms_req"
    # Installed as web2py installs an application: the models of r540 run once
    # with migrate = True and create the tables; then the instance's own models.
    run """
      set -eu
      for instance in haiti:prod haiti-test:test haiti-dev:dev; do
        user=$(echo "$instance" | cut -d: -f1)
        app=$(echo "$instance" | cut -d: -f2)
        a=${sandbox}/home/$user/web2py/applications/$app
        echo "db = DAL('sqlite://storage.sqlite', migrate=True); migrate = True" > "$a/models/00_db.py"
        (cd ${sandbox}/home/$user/web2py && ${python} web2py.py -S "$app" -M -N < /dev/null)
        cp ${files}/models/00_db.py ${files}/models/00_settings.py "$a/models/"
      done
    """
    sql prod_data """
      INSERT INTO org_organisation (name, acronym, type) VALUES
        ('Sahana Software Foundation', 'SSF', 1),
        ('Haiti Red Cross', 'CRH', 2),
        ('World Food Programme', 'WFP', 3);
      INSERT INTO pr_person (first_name, last_name, email) VALUES
        ('Fran', 'Boon', 'fran@example.org'),
        ('Chamindra', 'de Silva', 'chamindra@example.org'),
        ('Praneeth', 'Bodduluri', 'lifeeth@example.org');
      INSERT INTO rms_req (message, location, timestmp) VALUES
        ('Water needed for 200 people', 'Port-au-Prince', '2010-01-20 10:00:00'),
        ('Medical supplies at the field hospital', 'Jacmel', '2010-01-21 08:30:00');
    """
    sql uat_data "INSERT INTO org_organisation (name, acronym, type) VALUES ('Test organisation', 'TST', 1)"
    sql dev_data "INSERT INTO org_organisation (name, acronym, type) VALUES ('Dev organisation', 'DEV', 1)"
  }
}

include "lib/haiti-release.rb"
