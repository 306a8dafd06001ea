# The Haiti portal release (Sahana, wiki:ReleaseManagement): code goes from the
# Haiti branch to Dev, then UAT, then Prod. Each instance is a web2py
# application; Prod runs on SQLite, Dev and UAT on MySQL on the shared
# logistics VM. The steps are in lib/haiti-release.rb (shared with
# haiti-sandbox.rb, the same release on a local copy of this world); this file
# says where the real instances are.
#
#   runbook run runbooks/haiti-release.rb --env dev --dry-run
#   runbook run runbooks/haiti-release.rb --env prod --approve env
runbook "haiti-release" version "1.1.0"
description "Haiti portal: pull the Haiti branch onto an instance, migrate its data"
owner "release-group"
default env dev

param branch            = "lp:sahana-haiti"
param revision          = "547" # a bzr revno: `-r 547` (bzr and brz take no "r547")
var home                = "/home/haiti"
var app                 = "prod"
var web2py              = "${home}/web2py"
var appdir              = "${web2py}/applications/${app}"
var site                = "/etc/apache2/sites-enabled/prod"
var url                 = "http://haiti.sahanapy.org/"
var draft               = "careful"
var crontab             = "/etc/crontab"
var crontab_user        = "root"
var python              = "python"
var bzr                 = "bzr"
var backups             = "backups"
host portal             = "haiti@haiti.sahanapy.org"
secret test_db_password = env "HAITITEST_DB_PASSWORD"
secret dev_db_password  = env "HAITIDEV_DB_PASSWORD"
database appdb          = sqlite "${appdir}/databases/storage.sqlite" on portal

env dev {
  var home       = "/home/haiti-dev"
  var app        = "dev"
  var site       = "/etc/apache2/sites-enabled/haiti-dev"
  var url        = "http://logistics.sahanapy.org/dev/"
  var draft      = "first draft of the"
  host portal    = "haiti-dev@logistics.sahanapy.org"
  database appdb = mysql "mysql://haitidev@127.0.0.1/haitidev" password dev_db_password via portal
}

env uat {
  var home       = "/home/haiti-test"
  var app        = "test"
  var site       = "/etc/apache2/sites-enabled/haiti-test"
  var url        = "http://logistics.sahanapy.org/test/"
  var draft      = "more detailed"
  host portal    = "haiti-test@logistics.sahanapy.org"
  database appdb = mysql "mysql://haititest@127.0.0.1/haititest" password test_db_password via portal
}

env prod {
  protected
  confirm "Sign-off for this release has come from the release group"
}

include "lib/haiti-release.rb"
