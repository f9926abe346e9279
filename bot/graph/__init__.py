"""Microsoft Graph over httpx: typed calls, paging, throttling, Graph errors to domain errors.

`client.GraphClient` makes the calls; `adapters` implements the domain's ports on top of it;
`wiring.build_graph_ports` assembles both from the settings for the composition root.
"""
