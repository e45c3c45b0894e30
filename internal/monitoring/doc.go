// Package monitoring keeps what the project ships for operators true to the
// worker: the Grafana dashboard (deploy/grafana/sportsconnect.json) and the
// Prometheus alerting rules (deploy/prometheus/alerts.yml, with their
// promtool unit tests in alerts_test.yml).
//
// It holds only tests:
//
//   - a worker in distributed mode on the embedded Kafka and registry runs
//     every demo source (synthetic and each provider's simulator) and
//     serves /metrics; every metric, label and literal label value that a
//     dashboard query, a template variable or an alert expression names
//     must appear in that scrape (PromQL is read with a small lexer: metric
//     names, matchers, grouping labels and function names);
//   - promtool check rules and promtool test rules, with promtool built
//     through the Go module proxy (go run …/cmd/promtool@version): the test
//     fails, never skips, when it cannot be had;
//   - the dashboard decodes, its panel ids are unique, every panel has a
//     description, a unit and queries on the datasource variable.
package monitoring
