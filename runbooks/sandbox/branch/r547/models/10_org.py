# Sahana Haiti r547: organisations, people and requests (RMS); organisations
# have a website, requests a priority.
db.define_table('org_organisation',
    Field('name', length=128),
    Field('acronym', length=8),
    Field('type', 'integer'),
    Field('website'),
    migrate=migrate)

db.define_table('pr_person',
    Field('first_name'),
    Field('last_name'),
    Field('email'),
    migrate=migrate)

db.define_table('rms_req',
    Field('message', 'text'),
    Field('location'),
    Field('timestmp', 'datetime'),
    Field('priority', 'integer', default=2),
    migrate=migrate)
