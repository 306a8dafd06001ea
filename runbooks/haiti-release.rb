# The Haiti portal release (Sahana, wiki:ReleaseManagement): code goes from the
# Haiti branch to Dev, then UAT, then Prod. Each instance is a web2py
# application; Prod runs on SQLite, Dev and UAT on MySQL on the shared
# logistics VM.
#
#   runbook run runbooks/haiti-release.rb --env dev --dry-run
#   runbook run runbooks/haiti-release.rb --env prod --approve env
runbook "haiti-release" version "1.1.0"
description "Haiti portal: pull the Haiti branch onto an instance, migrate its data"
owner "release-group"
default env dev

param branch            = "lp:sahana-haiti"
param revision          = "r547"
var home                = "/home/haiti"
var app                 = "prod"
var web2py              = "${home}/web2py"
var appdir              = "${web2py}/applications/${app}"
var site                = "/etc/apache2/sites-enabled/prod"
var url                 = "http://haiti.sahanapy.org/"
var draft               = "careful"
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

section "Prepare" {
  step "Inform testers" when env == "uat" {
    manual "Tell the testers in the group that UAT is about to change to ${revision}"
  }

  step "Sync data from prod" when env != "prod" {
    sync appdb from prod.appdb
  }

  step "Review the data migration plan" {
    confirm "Is the ${draft} data migration plan for ${env} written and reviewed?"
  }

  step "Check the instance" on portal {
    require exists "${appdir}/models/00_db.py" else "the ${app} application is not where the runbook expects it"
    require exists "${site}" else "the Apache site for ${env} is not enabled"
    require output "grep -c '^migrate = False' ${appdir}/models/00_db.py" == "1" else "models/00_db.py must say migrate = False before a release"
  }

  step "Check production settings" on portal when env == "prod" {
    require succeeds "grep -q 'registration_requires_verification = True' ${appdir}/models/00_settings.py"
    require succeeds "grep -q 'registration_requires_approval = True' ${appdir}/models/00_settings.py"
  }
}

section "Backup" {
  step "Disable system crontab" on portal {
    run "cp /etc/crontab /etc/crontab.before-release" as root
    run "sed -i -e '/web2py/ s/^/#release-off# /' /etc/crontab" as root
    undo {
      run "sed -i -e 's/^#release-off# //' /etc/crontab" as root
    }
  }

  step "Maintenance mode on" on portal {
    require exists "${home}/maintenance.on"
    run "cd ${home} && ./maintenance.on"
    undo "cd ${home} && ./maintenance.off"
  }

  step "Export database" {
    export appdb to "backups/${env}-${run.id}.csv" format web2py
  }
}

section "Deploy and migrate" {
  step "Pull the Haiti branch" on portal {
    run "cd ${appdir} && bzr revno > ${home}/revno.before-release"
    run "cd ${appdir} && bzr pull --overwrite -r ${revision} ${branch}"
    undo "cd ${appdir} && bzr revert -r $(cat ${home}/revno.before-release)"
  }

  step "Migrate the database" on portal {
    edit "${appdir}/models/00_db.py" {
      replace "migrate = False" with "migrate = True"
    }
    run "cd ${web2py} && python web2py.py -S ${app} -M -N < /dev/null"
    undo {
      import appdb from "backups/${env}-${run.id}.csv"
    }
    timeout 30m
  }

  step "Freeze the schema again" on portal {
    edit "${appdir}/models/00_db.py" {
      replace "migrate = True" with "migrate = False"
    }
  }
}

finally {
  step "Maintenance mode off" on portal {
    run "cd ${home} && ./maintenance.off"
  }

  step "Re-enable system crontab" on portal {
    require exists "/etc/crontab.before-release"
    run "sed -i -e 's/^#release-off# //' /etc/crontab" as root
  }

  step "Check the site answers" on portal {
    wait until succeeds "curl -fsS -o /dev/null ${url}" every 5s timeout 2m
    note "${env} is on ${revision} and answering at ${url}"
  }
}
