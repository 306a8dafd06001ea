# Fail the orders database over from its primary to its replica: for planned
# maintenance (the primary is stopped cleanly first) or when the primary is lost.
# The `drill` env rehearses the whole procedure on copies every quarter.
runbook "orders-db-failover" version "0.9.0"
description "Promote the orders replica to primary and move the application to it"
owner "dba-oncall"
default env drill

param reason            = "planned maintenance"
param max_lag           = 5
var config              = "/srv/orders/config/database.yml"
var old_db              = "db1.example.org"
var new_db              = "db2.example.org"
var grace               = 30s
host primary            = "dba@db1.example.org"
host replica            = "dba@db2.example.org"
host app                = ["deploy@app1.example.org", "deploy@app2.example.org"]
secret admin_password   = env "ORDERS_ADMIN_PASSWORD"
database orders_primary = mysql "mysql://admin@127.0.0.1:3306/orders" password admin_password via primary
database orders_replica = mysql "mysql://admin@127.0.0.1:3306/orders" password admin_password via replica
database audit          = sqlite "state/failover-audit.sqlite"
database app_cache      = sqlite "/srv/orders/cache/sessions.sqlite" on app

env drill {
  var old_db   = "drill-db1.example.org"
  var new_db   = "drill-db2.example.org"
  host primary = "dba@drill-db1.example.org"
  host replica = "dba@drill-db2.example.org"
  host app     = ["deploy@drill-app1.example.org"]
}

env production {
  protected
  confirm "The incident commander has approved this failover"
  confirm "The status page says the orders service is under maintenance"
}

section "Assess" {
  step "Replica is a healthy read-only copy" as replica_healthy {
    require query orders_replica "SELECT @@read_only" == 1 else "the replica is not read-only: is it already a primary?"
    require query orders_replica "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'orders'" > 0
    require (query orders_replica "SELECT COALESCE(MAX(TIMESTAMPDIFF(SECOND, ts, NOW())), 0) FROM heartbeat.heartbeat" <= max_lag) or reason == "primary lost"
  }

  step "Primary answers" on primary unless reason == "primary lost" {
    require succeeds "mysqladmin --connect-timeout=5 ping"
    require not exists "/var/lib/mysql/FAILOVER_IN_PROGRESS"
  }

  step "Announce the failover" {
    manual """
      Post in #incidents:
        "Orders database failover (${reason}) starts now; writes pause for about a minute."
      Then put the status page into maintenance.
      """
  }
}

section "Fail over" {
  step "Stop writes on the primary" on primary unless reason == "primary lost" {
    confirm "Stop all writes to the orders primary on ${old_db} now?"
    sql orders_primary "SET GLOBAL super_read_only = ON"
    run "touch /var/lib/mysql/FAILOVER_IN_PROGRESS" as "mysql"
    undo {
      sql orders_primary "SET GLOBAL super_read_only = OFF"
      run "rm -f /var/lib/mysql/FAILOVER_IN_PROGRESS" as "mysql"
    }
  }

  step "Wait for the replica to catch up" {
    wait until query orders_replica "SELECT COALESCE(MAX(TIMESTAMPDIFF(SECOND, ts, NOW())), 0) FROM heartbeat.heartbeat" < 1 every 2s timeout 5m
  }

  step "Promote the replica" on replica {
    confirm "Promote ${new_db} to primary? This cannot be undone automatically once the apps write to it."
    sql orders_replica """
      STOP REPLICA;
      RESET REPLICA ALL;
      SET GLOBAL super_read_only = OFF;
      SET GLOBAL read_only = OFF;
      """
    undo {
      manual "Re-point ${new_db} at ${old_db} as a replica (CHANGE REPLICATION SOURCE TO …; START REPLICA) before anything else"
    }
    timeout 2m
  }

  step "Point the apps at the new primary" on app {
    edit "${config}" {
      replace all "host: ${old_db}" with "host: ${new_db}"
    }
    run "systemctl restart orders" as root
    sql app_cache "DELETE FROM sessions WHERE db_host = ${old_db}"
    undo {
      run "systemctl restart orders" as root
    }
    parallel 2
    retry 2
  }

  step "Smoke test" as smoke {
    wait until succeeds "curl -fsS http://app1.example.org/orders/health" every 5s timeout 2m
    require output "curl -fsS http://app1.example.org/orders/health" != "degraded"
    note "Orders are served from ${new_db}; the grace period for stragglers is ${grace}"
  }
}

section "Drill only" {
  step "Refresh the drill data from production" when env == "drill" and not (reason in ["primary lost", "corruption"]) {
    sync orders_replica from production.orders_replica tables ["orders", "order_lines"]
  }

  step "Archive the audit trail" when env != "production" or max_lag >= 10 {
    export audit tables ["failovers"] to "reports/failovers-${env}.csv" format csv
  }

  step "Reload the audit baseline" when env == "drill" {
    import audit from "reports/failovers-baseline.csv"
    sql audit "DELETE FROM ${raw env}_scratch WHERE 1 = 1"
    undo {
      sql audit "DELETE FROM failovers WHERE env = ${env}"
    }
    allow failure
  }
}

finally {
  step "Record the failover" {
    sql audit "CREATE TABLE IF NOT EXISTS failovers (at TEXT, env TEXT, reason TEXT); INSERT INTO failovers VALUES (datetime('now'), ${env}, ${reason})"
    undo {
      sql audit "DELETE FROM failovers WHERE reason = ${reason}"
    }
  }
}
