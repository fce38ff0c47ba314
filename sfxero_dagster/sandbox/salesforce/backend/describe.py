"""Metadata: the resources of an API version, describeGlobal, an sObject's basic information (with its
recently changed records) and describe (fields, types, precision and scale, from schema.yaml).
"""

from __future__ import annotations

from ...httpbase import Request, Response
from ..errors import not_found
from .org import Org


class Describe:
    def __init__(self, org: Org) -> None:
        self.org = org

    def resources(self, req: Request) -> Response:
        """The resources of an API version (``GET /services/data/vXX.X``)."""
        v = req.params["v"]
        return Response.json(
            {"sobjects": f"/services/data/v{v}/sobjects", "query": f"/services/data/v{v}/query"}
        )

    def describe_global(self, req: Request) -> Response:
        v = req.params["v"]
        return Response.json(
            {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [
                    {
                        "name": o.name,
                        "keyPrefix": o.key_prefix,
                        "custom": o.custom,
                        "queryable": True,
                        "urls": {"sobject": f"/services/data/v{v}/sobjects/{o.name}"},
                    }
                    for o in self.org.schema.objects.values()
                ],
            }
        )

    def sobject_basic_info(self, req: Request) -> Response:
        obj = self.org.obj(req.params["obj"])
        if obj is None:
            return not_found()
        d = obj.describe(req.params["v"])
        recent = sorted(
            self.org.store.all(obj.name), key=lambda r: r.get("LastModifiedDate", ""), reverse=True
        )[:5]
        return Response.json(
            {
                "objectDescribe": {k: d[k] for k in ("name", "keyPrefix", "custom", "urls")},
                "recentItems": [
                    {
                        "attributes": {
                            "type": obj.name,
                            "url": f"/services/data/v{req.params['v']}/sobjects/{obj.name}/{x['Id']}",
                        },
                        "Id": x["Id"],
                    }
                    for x in recent
                ],
            }
        )

    def describe(self, req: Request) -> Response:
        obj = self.org.obj(req.params["obj"])
        return Response.json(obj.describe(req.params["v"])) if obj else not_found()
