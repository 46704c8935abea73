"""Start the porelab HTTP service on a registry and block (Ctrl-C stops it).

python jobs/serve.py --registry runs/cv/registry [--host 127.0.0.1] [--port 8000] [--token-file F]
"""

import argparse
import json

from porelab.serve import add_serve_arguments, config_from_args, serve_forever


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_serve_arguments(parser)
    config = config_from_args(parser.parse_args())
    print(json.dumps({"starting": str(config.registry), "host": config.host, "port": config.port}), flush=True)
    serve_forever(config, on_ready=lambda urls: print(json.dumps(urls), flush=True))


if __name__ == "__main__":
    main()
