"""``inpaint serve``: an HTTP API and a brush page over one loaded model (FastAPI on uvicorn).

:mod:`inpaint.serve.app` builds the app (endpoints, limits, errors), :mod:`inpaint.serve.batcher` queues
requests and runs equal sizes together on one worker thread, :mod:`inpaint.serve.guards` checks the
body's size and the token, ``page.html`` is the page. A front end beside :mod:`inpaint.cli`: it uses the runtime, which
never imports it. Needs the ``serve`` extra (``pip install 'inpaint-toolkit[serve]'``).
"""
