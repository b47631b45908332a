"""Run localstripe (a fake but stateful Stripe API) on loopback only.

localstripe's own command listens on every interface and keeps its data in
/tmp/localstripe.pickle; for the tests it listens on 127.0.0.1 and keeps its data in
memory.

    python localstripe_server.py PORT
"""

import logging
import sys

from aiohttp import web
from localstripe import resources, server


def main():
    port = int(sys.argv[1])
    # In memory only: neither read nor write /tmp/localstripe.pickle.
    resources.Store.dump_to_disk = lambda self: None
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    web.run_app(server.app, host="127.0.0.1", port=port, print=None,
                access_log=logging.getLogger("aiohttp.access"))


if __name__ == "__main__":
    main()
