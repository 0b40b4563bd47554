# Plots for docs/performance.md from the tab-separated results of
# hack/bench (-tsv) and hack/dataplane (-tsv):
#
#   gnuplot -e "dir='docs/performance'" hack/plots.gp
#
# reads $dir/bench.tsv and $dir/dataplane.tsv, writes $dir/generation.png
# and $dir/dataplane.png.
if (!exists("dir")) dir = "docs/performance"

set datafile separator "\t"
set datafile missing "-"
set terminal pngcairo size 1500,520 font "sans,11"
set logscale xy
set grid
set key top left Left reverse
set xrange [500:200000]
set yrange [1:1e5]
set xlabel "services (10 endpoints each)"
set format x "%.0s%c"

bench = dir."/bench.tsv"
# the rows of one mode (gnuplot breaks a line at every row it skips)
rows(file, m) = "< awk -F'\t' '$1 == \"".m."\"' ".file

set output dir."/generation.png"
set multiplot layout 1,3 title "Time to produce a full ruleset: kube-proxy v1.36's full sync vs kubeproxyc (lower is better)"
do for [m in "iptables nftables ipvs"] {
    if (m ne "iptables") { unset key }
    set title m." mode"
    set ylabel "milliseconds"
    plot rows(bench, m) using 2:4 with linespoints lw 2 pt 7 title "kube-proxy full sync (generation only)", \
         rows(bench, m) using 2:5 with linespoints lw 2 pt 5 title "kubeproxyc compile+render (objects loaded)", \
         rows(bench, m) using 2:7 with linespoints lw 2 pt 9 title "kubeproxyc render, from JSON", \
         rows(bench, m) using 2:8 with linespoints lw 2 pt 11 title "kubeproxyc render, from YAML"
}
unset multiplot
set key top left Left reverse
set yrange [*:*]

dp = dir."/dataplane.tsv"
set terminal pngcairo size 1200,480 font "sans,11"
set output dir."/dataplane.png"
set format x "%g"
set xrange [*:*]
set multiplot layout 1,2 title "The compiled rulesets in a real kernel (network namespaces)"
set title "TCP connection setup to a ClusterIP, median"
set ylabel "microseconds"
unset logscale
set xrange [0:*]
set yrange [0:*]
set key top left Left reverse
set offsets 0, 0, graph 0.35, 0
plot rows(dp, "iptables") using 2:9 with linespoints lw 2 pt 7 title "iptables, last Service of KUBE-SERVICES", \
     rows(dp, "iptables") using 2:6 with linespoints lw 2 pt 6 dt 2 title "iptables, first Service", \
     rows(dp, "nftables") using 2:9 with linespoints lw 2 pt 5 title "nftables, last Service", \
     rows(dp, "nftables") using 2:6 with linespoints lw 2 pt 4 dt 2 title "nftables, first Service"
set offsets 0, 0, 0, 0
set title "Loading the ruleset"
set ylabel "seconds"
set logscale xy
set xrange [*:*]
set yrange [*:*]
plot rows(dp, "iptables") using 2:5 with linespoints lw 2 pt 7 title "iptables-restore", \
     rows(dp, "nftables") using 2:5 with linespoints lw 2 pt 5 title "nft -f"
unset multiplot
