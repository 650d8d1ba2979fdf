# startbench.gp - plot the start matrix that runtime.bench.sh writes
# (matrix.tsv: setup, one wall-median column per runtime, then one paired
# wall/crun column per runtime; a header line).
#   gnuplot -e "data='build/bench/matrix.tsv'; out='build/bench/startbench.png'; nrt=3; floor='3.9'; rounds='50'" startbench.gp
# Left: grouped bars by setup, one bar per runtime (median wall ms of
# create -> start -> wait -> delete), the floor as a dashed line.  Right: the
# paired wall ratio vs crun per setup, with the 0.6 target line.
# Failed cells are "nan" and show as an empty slot.
if (!exists("rounds")) rounds = "?"
if (!exists("floor")) floor = "nan"
set terminal pngcairo size 1500,560 font "sans,11"
set output out
set datafile separator "\t"
set datafile missing "nan"
set key autotitle columnheader
set multiplot layout 1,2 title sprintf("container start matrix: create -> start -> wait -> delete of /bin/true (medians of %s interleaved rounds)", rounds)

set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left
set grid ytics
set yrange [0:*]
set offsets 0, 0, graph 0.1, 0
set ylabel "milliseconds (median wall)"
fl = floor + 0
set title sprintf("wall median per setup and runtime (dashed: floor %s ms)", floor)
if (floor eq "nan") {
  plot for [i=2:1+nrt] data using i:xtic(1)
} else {
  plot for [i=2:1+nrt] data using i:xtic(1), fl with lines dt 2 lw 2 lc rgb "black" title "floor"
}

set title "paired wall ratio vs crun (median of per-round ratios); target <= 0.6"
set ylabel "x crun"
plot for [i=2+nrt:1+2*nrt] data using i:xtic(1), \
     0.6 with lines dt 2 lw 2 lc rgb "red" title "target 0.6", \
     1.0 with lines dt 3 lw 1 lc rgb "gray" title "crun"
unset multiplot
