runbook "missing-undo" version "1.0.0"

host portal = "haiti@haiti.example.org"

env dev {}
env prod {
  protected
}

step "Disable crontab" on portal {
  run "crontab -r"
}
step "Dev only" on portal when env == "dev" {
  run "crontab -r"
}
step "Freeze the schema" on portal {
  edit "/srv/models/db.py" {
    replace "migrate = True" with "migrate = False"
  }
}
step "Maintenance mode" on portal {
  run "./maintenance.on"
  undo "./maintenance.off"
}
finally {
  step "Cleanup" on portal {
    run "rm -f /tmp/x"
  }
}
