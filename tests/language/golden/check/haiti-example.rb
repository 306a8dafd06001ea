runbook "haiti-release" version "1.0.0"
description "Haiti portal: pull the Haiti branch onto an instance, migrate its data"
owner "release-group"
default env dev

param branch   = "haiti"
var   home     = "/home/haiti"
var   app      = "prod"
var   web2py   = "${home}/web2py"
host  portal   = "haiti@haiti.sahanapy.org"
secret test_db_password = env "HAITITEST_DB_PASSWORD"
secret dev_db_password  = env "HAITIDEV_DB_PASSWORD"
database appdb = sqlite "${web2py}/applications/${app}/databases/storage.sqlite" on portal

env dev {
  var home = "/home/haiti-dev"
  var app  = "dev"
  host portal = "haiti-dev@logistics.sahanapy.org"
  database appdb = mysql "mysql://haitidev@127.0.0.1/haitidev" password dev_db_password via portal
}
env uat {
  var home = "/home/haiti-test"
  var app  = "test"
  host portal = "haiti-test@logistics.sahanapy.org"
  database appdb = mysql "mysql://haititest@127.0.0.1/haititest" password test_db_password via portal
}
env prod {
  protected
  confirm "Sign-off for this release has come from the release group"
}

section "Prepare" {
  step "Inform testers" when env == "uat" {
    manual "Tell the testers in the group that UAT is about to change"
  }
  step "Sync data from prod" when env != "prod" {
    sync appdb from prod.appdb
  }
  step "Review the data migration plan" {
    confirm "Is the data migration plan for ${env} written and reviewed?"
  }
}

section "Backup" {
  step "Disable system crontab" on portal {
    run "crontab -l > ${home}/crontab.bak && crontab -r"
    undo "crontab ${home}/crontab.bak"
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
    run "cd ${web2py}/applications/${app} && bzr pull --overwrite ${branch}"
  }
  step "Migrate the database" on portal {
    edit "${web2py}/applications/${app}/models/00_db.py" {
      replace "migrate = False" with "migrate = True"
    }
    run "cd ${web2py} && python web2py.py -S ${app} -M -N -R applications/${app}/private/migrate.py"
    timeout 30m
  }
  step "Freeze the schema again" on portal {
    edit "${web2py}/applications/${app}/models/00_db.py" {
      replace "migrate = True" with "migrate = False"
    }
  }
}

finally {
  step "Maintenance mode off" on portal {
    run "cd ${home} && ./maintenance.off"
  }
  step "Re-enable system crontab" on portal {
    require exists "${home}/crontab.bak"
    run "crontab ${home}/crontab.bak"
  }
}
