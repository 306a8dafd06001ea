# Makes this folder's fixtures with pydal itself (not installed: its source
# checkout on sys.path, PYDAL=/path/to/pydal), the way a web2py app on SQLite
# leaves them: storage.sqlite (decimal fields created as DOUBLE), the .table
# files pydal writes with pickle.dump (protocol 4 on Python 3.8+), and
# expected.csv, what pydal's own db.export_to_csv_file writes for that data.
# Then the `item` .table file again in protocols 0, 2 and 3 (pickles/), loaded
# and dumped again by python3, for the pickle reader's tests.
#   PYDAL=/tmp/pydal python3 make.py
import glob, os, pickle, sys
sys.path.insert(0, os.environ["PYDAL"])
from pydal import DAL, Field

here = os.path.dirname(os.path.abspath(__file__))
db = DAL("sqlite://storage.sqlite", folder=here)
db.define_table("zone", Field("name"), Field("area", "decimal(8,3)"))
db.define_table("item", Field("zone", "reference zone"), Field("name"), Field("price", "decimal(10,2)"),
                Field("rate", "decimal(7,4)"), Field("weight", "double"), Field("ok", "boolean"))
db.zone.insert(name="north", area=1.5)
db.zone.insert(name="south", area=None)
for name, price, rate, weight, ok in [("a", 12.3, 0.5, 12.3, True), ("b", 100.0, 1.23456, 100.0, False),
                                      ("c", 0.5, -3.0, 0.5, True), ("d", -0.05, 0.0, -0.05, None),
                                      ("e", None, None, None, False), ("tie", 0.125, 2.675, 0.125, True),
                                      ("big", 12345678.9, -0.00005, 1e-7, True)]:
    db.item.insert(zone=1, name=name, price=price, rate=rate, weight=weight, ok=ok)
db.commit()
with open(os.path.join(here, "expected.csv"), "w", newline="") as f:
    db.export_to_csv_file(f)
db.close()
os.remove(os.path.join(here, "sql.log"))
os.makedirs(os.path.join(here, "pickles"), exist_ok=True)
[item] = glob.glob(os.path.join(here, "*_item.table"))
fields = pickle.load(open(item, "rb"))
for protocol in (0, 2, 3):
    with open(os.path.join(here, "pickles", "item-protocol-%d.table" % protocol), "wb") as f:
        pickle.dump(fields, f, protocol=protocol)
