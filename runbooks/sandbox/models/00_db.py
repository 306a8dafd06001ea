# Sahana Haiti: the database of this instance. The schema is frozen outside a
# release; a release lets web2py migrate it, then freezes it again.
migrate = False
db = DAL('sqlite://storage.sqlite', pool_size=10, migrate=migrate)
