"""The smallest proof that the test server speaks MongoDB: insert, find, a
unique index refusing a duplicate, findAndModify. Run it under with.sh:
    tests/ferretdb/with.sh /usr/bin/python3 tests/ferretdb/check.py"""
import os
import sys

import pymongo
from pymongo.errors import DuplicateKeyError

client = pymongo.MongoClient(os.environ["MONGODB_URI"], serverSelectionTimeoutMS=5000)
db = client["hs_check"]
db.users.drop()
db.users.create_index("login", unique=True)
db.users.insert_one({"_id": 1, "login": "alice", "n": 0})
assert db.users.find_one({"login": "alice"})["_id"] == 1
try:
    db.users.insert_one({"_id": 2, "login": "alice"})
    sys.exit("a unique index let a duplicate in")
except DuplicateKeyError as e:
    assert e.code == 11000, e.code
doc = db.users.find_one_and_update({"_id": 1}, {"$inc": {"n": 1}},
                                   return_document=pymongo.ReturnDocument.AFTER)
assert doc["n"] == 1, doc
print("ferretdb check: ok,", client.server_info().get("ferretdbVersion", "server"),
      client.server_info()["version"])
