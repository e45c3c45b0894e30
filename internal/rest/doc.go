// Package rest is the worker's REST API, with Kafka Connect's paths, verbs
// and JSON shapes, so a Connect operator's tools and habits work as they are:
//
//	GET    /                                          version, commit, kafka_cluster_id
//	GET    /connectors[?expand=status&expand=info]    names, or name -> {status, info}
//	POST   /connectors                                {"name":..,"config":{..}} -> 201
//	GET    /connectors/{c}                            {name, config, tasks, type}
//	GET    /connectors/{c}/config                     config (secrets "[hidden]")
//	PUT    /connectors/{c}/config                     create (201) or update (200)
//	GET    /connectors/{c}/status                     connector and task states, a failed task's trace
//	GET    /connectors/{c}/tasks                      [{id:{connector,task}, config}]
//	GET    /connectors/{c}/tasks/{t}/status           {id, state, worker_id[, trace]}
//	POST   /connectors/{c}/restart[?includeTasks=&onlyFailed=]   204, or 202 with the status
//	POST   /connectors/{c}/tasks/{t}/restart          204
//	PUT    /connectors/{c}/pause | resume             202
//	PUT    /connectors/{c}/stop                       204 (KIP-875: STOPPED, tasks shut down)
//	DELETE /connectors/{c}                            204
//	GET    /connectors/{c}/offsets                    {"offsets":[{"partition":{..},"offset":{..}}]}
//	PATCH  /connectors/{c}/offsets                    alter (STOPPED only) -> {"message":..}
//	DELETE /connectors/{c}/offsets                    reset (STOPPED only) -> {"message":..}
//	GET    /connector-plugins                         [{class, type, version}]
//	GET    /connector-plugins/{class}/config          the plugin's config definitions
//	PUT    /connector-plugins/{class}/config/validate Connect's ConfigInfos
//	GET    /health                                    Connect's (KIP-1017) {"status":"healthy",..}
//	GET    /healthz, /readyz                          liveness and readiness probes
//	GET    /metrics                                   Prometheus text (when a handler is given)
//
// Errors are {"error_code":N,"message":"..."}. The API listens on the
// worker's "listeners" setting (default http://127.0.0.1:8083, loopback
// only; empty turns it off); a listener that cannot be bound fails the
// worker's start. With rest.auth.token set, every request but the probes needs
// "Authorization: Bearer <token>". Every config it returns is redacted with
// the plugin's spec: password settings, and any key that looks like a
// secret, show as "[hidden]".
//
// Differences from Connect, all from running one worker without a config
// topic: a connector-only restart restarts its tasks too (our tasks are
// made by their connector instance); connectors created through the API
// live as long as the process (they are not stored in a config topic).
package rest
