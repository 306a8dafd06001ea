# Sahana Haiti r540: organisations, people and requests (RMS).
db.define_table('org_organisation',
    Field('name', length=128),
    Field('acronym', length=8),
    Field('type', 'integer'),
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
    migrate=migrate)
