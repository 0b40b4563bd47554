// Package tools holds the logic of kubeproxyc's commands for people, the
// ones that answer questions about rules rather than write them:
//
//   - diff (ruleset.go, diff.go, dump.go): compare two rulesets, compiled
//     or read from a node, grouped by the service port each change
//     belongs to;
//   - explain (explain.go): trace one packet through a ruleset and say
//     where it can go, with what probability and why;
//   - inspect (inspect.go): a table per service port, and per-mode totals
//     that help choose a proxy mode;
//   - lint (lint.go): findings with stable IDs about objects that compile
//     but are probably not what their author meant;
//   - graph (graph.go): the chain graph of one Service as Graphviz DOT.
//
// The cobra commands in cmd/kubeproxyc/cli parse flags and call these
// functions; everything here writes to an io.Writer and is deterministic.
package tools
