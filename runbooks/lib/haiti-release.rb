# The Haiti portal release procedure (Sahana, wiki:ReleaseManagement), one home
# for its steps: runbooks/haiti-release.rb runs it on the real Dev, UAT and Prod
# instances, runbooks/haiti-sandbox.rb on a copy of their world under a local
# folder. The runbook that includes this file declares every name it uses (where
# the instance lives, its host and database, which programs and files it uses),
# with an env block per instance: dev, uat and prod.

section "Prepare" {
  step "Inform testers" when env == "uat" {
    manual "Tell the testers in the group that UAT is about to change to revision ${revision}"
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
    run "cp ${crontab} ${crontab}.before-release" as "${crontab_user}"
    run "sed -i -e '/web2py/ s/^/#release-off# /' ${crontab}" as "${crontab_user}"
    undo {
      run "sed -i -e 's/^#release-off# //' ${crontab}" as "${crontab_user}"
    }
  }

  step "Maintenance mode on" on portal {
    require exists "${home}/maintenance.on"
    run "cd ${home} && ./maintenance.on"
    undo "cd ${home} && ./maintenance.off"
  }

  # Its undo puts the data back as exported: a rollback after a migration that
  # failed part-way (the failed step's own undo never runs) restores it too.
  step "Export database" {
    export appdb to "${backups}/${env}-${run.id}.csv" format web2py
    undo {
      import appdb from "${backups}/${env}-${run.id}.csv"
    }
  }
}

section "Deploy and migrate" {
  step "Pull the Haiti branch" on portal {
    # The revision it is on, kept in the journal for the undo (a resumed run has it too).
    run "cd ${appdir} && ${bzr} revno" into revision_before
    run "cd ${appdir} && ${bzr} pull --overwrite -r ${revision} ${branch}"
    # Back to the revision it was on, branch and tree: `revert -r` would change
    # only the files, and the branch would still say the new revision.
    undo "cd ${appdir} && ${bzr} pull --overwrite -r ${revision_before} ${branch}"
  }

  step "Migrate the database" on portal {
    edit "${appdir}/models/00_db.py" {
      replace "migrate = False" with "migrate = True"
    }
    run "cd ${web2py} && ${python} web2py.py -S ${app} -M -N < /dev/null"
    # The data as exported (a later step failed; the export's own undo does it
    # again, which changes nothing more).
    undo {
      import appdb from "${backups}/${env}-${run.id}.csv"
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
    require exists "${crontab}.before-release"
    run "sed -i -e 's/^#release-off# //' ${crontab}" as "${crontab_user}"
  }

  step "Check the site answers" on portal {
    wait until succeeds "curl -fsS -o /dev/null ${url}" every 5s timeout 2m
    note "${env} is on revision ${revision} and answering at ${url}"
  }
}
