# Rotate the TLS certificate of the web tier. The new certificate and key are
# checked locally first, then installed on the web hosts two at a time; nginx is
# reloaded only after its configuration test passes.
runbook "tls-certificate-rotation" version "2.0.1"
description "Rotate the TLS certificate on the web tier, two hosts at a time"
owner "platform-team"
default env staging

include "lib/notify.rb"

param domain   = "portal.example.org"
param cert_dir = "certs/2026"
var live       = "/etc/ssl/private"
var site_conf  = "/etc/nginx/sites-enabled/portal.conf"
var min_days   = 30
var wanted     = ["portal.example.org", "staging.example.org"]
host web       = ["deploy@web1.example.org", "deploy@web2.example.org", "deploy@web3.example.org:2222"]

env staging {
  param domain = "staging.example.org"
  host web     = ["deploy@stage-web1.example.org", "deploy@stage-web2.example.org"]
}

env production {
  protected
  confirm "A change ticket for this rotation is approved"
}

step "Check the new certificate" as check_cert {
  require domain in wanted else "this runbook only rotates ${domain} when it is listed in wanted"
  require exists "${cert_dir}/${domain}.crt" else "put the new certificate in ${cert_dir} first"
  require exists "${cert_dir}/${domain}.key"
  require output "openssl x509 -noout -subject -in ${cert_dir}/${domain}.crt" contains domain
  require succeeds "openssl x509 -checkend 2592000 -noout -in ${cert_dir}/${domain}.crt" else "the new certificate expires within ${min_days} days"
}

section "Rotate" {
  step "Back up the live certificate" on web {
    run "cp -p ${live}/${domain}.crt ${live}/${domain}.crt.previous && cp -p ${live}/${domain}.key ${live}/${domain}.key.previous" as root
    download "${live}/${domain}.crt" to "backups/${domain}.crt"
    undo {
      run "rm -f ${live}/${domain}.crt.previous ${live}/${domain}.key.previous" as root
    }
    parallel 3
  }

  step "Install the new certificate" on web {
    upload "${cert_dir}/${domain}.crt" to "/tmp/${domain}.crt"
    upload "${cert_dir}/${domain}.key" to "/tmp/${domain}.key"
    run "install -m 0644 /tmp/${domain}.crt ${live}/${domain}.crt && install -m 0600 /tmp/${domain}.key ${live}/${domain}.key && rm -f /tmp/${domain}.crt /tmp/${domain}.key" as root
    undo {
      run "cp -p ${live}/${domain}.crt.previous ${live}/${domain}.crt && cp -p ${live}/${domain}.key.previous ${live}/${domain}.key" as root
    }
    parallel 2
  }

  step "Point nginx at the new files" on web {
    edit "${site_conf}" {
      replace all "ssl_stapling off;" with "ssl_stapling on;"
      replace "# certificate: previous" with "# certificate: rotated by runbook"
    }
    parallel 2
  }

  step "Reload nginx" on web {
    run "nginx -t && systemctl reload nginx" as root
    undo {
      run "systemctl reload nginx" as root
    }
    retry 3 every 10s
    timeout 1m
    parallel 2
  }

  step "Verify from outside" as verify {
    wait until output "echo | openssl s_client -connect ${domain}:443 -servername ${domain} 2>/dev/null | openssl x509 -noout -enddate" matches "notAfter=.* 20(2[7-9]|3[0-9]) " every 10s timeout 5m
  }
}

finally {
  step "Tell the team" {
    run "curl -fsS -H \"Authorization: Bearer ${notify_token}\" --data-urlencode text=${domain}' certificate rotation finished in '${env} ${notify_url}"
    note "Posted to ${channel}"
    allow failure
    timeout 30s
  }
}
