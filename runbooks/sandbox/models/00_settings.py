# Sahana Haiti: deployment settings.
auth.settings.registration_requires_verification = True
auth.settings.registration_requires_approval = True
