# SPDX-License-Identifier: GPL-2.0
# The benchmark's chart: gnuplot -e "datafile='results.dat'; outfile='chart.png'" chart.gp
# results.dat is written by kchanbench (report_plot() in report.c); its blocks,
# in order (index 0..4): ping-pong, stream, batch, m2m, goals.  Bars are
# medians; error bars span the rounds' min..max.

if (!exists("datafile")) datafile = 'build/bench/results.dat'
if (!exists("outfile")) outfile = 'build/bench/chart.png'
if (!exists("subtitle")) subtitle = ''

set terminal pngcairo size 1800,1100 font "DejaVu Sans,10"
set output outfile
set datafile missing "NaN"
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left
set grid ytics
set xtics rotate by 25 right nomirror
set border 3
set ytics nomirror

c1 = "#1f77b4"; c2 = "#ff7f0e"; c3 = "#2ca02c"

set multiplot layout 2,3 title "kchanbench: kchan against the kernel's other transports (one guest run; ".subtitle.")" font ",13"

# (a) ping-pong round trip
set key top right
set title "ping-pong round trip (us, lower is better)"
set ylabel "us per round trip"
set yrange [0:*]
plot datafile index 0 using 2:3:4:xtic(1) title "64 B" lc rgb c1, \
     '' index 0 using 5:6:7 title "4 KiB" lc rgb c2

# (b) 1->1 stream
set key top left
set title "1->1 stream, one message per call (k msgs/s, log)"
set ylabel "thousand messages per second"
set logscale y
set yrange [*:*]
plot datafile index 1 using 2:3:4:xtic(1) title "64 B" lc rgb c1, \
     '' index 1 using 5:6:7 title "4 KiB" lc rgb c2, \
     '' index 1 using 8:9:10 title "64 KiB" lc rgb c3
unset logscale y

# (c) batched, 64 B
set title "batched 1->1 stream, 64 B (k msgs/s)"
set ylabel "thousand messages per second"
set yrange [0:*]
plot datafile index 2 using 2:3:4:xtic(1) title "64 B" lc rgb c1

# (d) batched, 4 KiB, against memcpy
set title "batched 1->1 stream, 4 KiB (MB/s) vs memcpy"
set ylabel "MB/s"
plot datafile index 2 using 5:6:7:xtic(1) title "4 KiB" lc rgb c2

# (e) many-to-many
set title "per-message cost, 1->1 vs 4->4, 64 B (ns, lower is better)"
set ylabel "ns per message"
plot datafile index 3 using 2:3:4:xtic(1) title "1->1" lc rgb c1, \
     '' index 3 using 5:6:7 title "4->4" lc rgb c2

# (f) goals: achieved / required, >= 1 passes
set title "goals: achieved / required (>= 1 passes; log)"
set ylabel "margin"
set style data boxes
set boxwidth 0.7
set logscale y
set yrange [*:*]
set key off
set offsets 0.3, 0.3, graph 0.12, graph 0.08
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead lw 2 dt 2 lc rgb "#000000"
plot datafile index 4 using 0:2:($2 >= 1 ? 0x2ca02c : 0xd62728):xtic(1) \
     with boxes lc rgb variable notitle, \
     '' index 4 using 0:2:(sprintf("%.2g", $2)) with labels offset 0,0.7 notitle
unset arrow 1
unset logscale y
set offsets 0, 0, 0, 0

unset multiplot
