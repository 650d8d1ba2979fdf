# startbench.gp - plot what startbench writes (summary.tsv, samples.tsv).
#   gnuplot -e "data='build/bench/summary.tsv'; samples='build/bench/samples.tsv'; names='floor cell crun runc'; out='build/bench/startbench.png'; rounds='50'" startbench.gp
# Columns: 1 name, 2 runs, 3 wall median, 4 wall p90, 5 cpu median,
# 6 peak RSS KiB, 7 wall ratio vs crun, 8 cpu ratio, ..., 13 status.
# Failed runtimes have "nan" values and show as an empty slot.
if (!exists("rounds")) rounds = "?"
set terminal pngcairo size 1500,560 font "sans,11"
set output out
set datafile separator "\t"
set datafile missing "nan"
set multiplot layout 1,3 title sprintf("container start: create -> start -> wait -> delete of /bin/true (medians of %s interleaved rounds)", rounds)

set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left
set grid ytics
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set ylabel "milliseconds"
set title "time per container (label: wall median / crun's)"
plot data using 3:xtic(1) title "wall median" lc rgb "#3070b0", \
     '' using 4 title "wall p90" lc rgb "#90b8e0", \
     '' using 5 title "cpu median" lc rgb "#e08030", \
     '' using ($0-0.3):($4):(sprintf("%.2fx", $7)) with labels offset 0,0.8 notitle

set title "every cycle: fraction of cycles done within x ms"
set style data lines
set xlabel "wall ms per container (log scale)"
set ylabel "fraction of cycles"
set logscale x
set xrange [*:*]
set yrange [0:1.02]
set offsets 0, 0, 0, 0
set key top left
set datafile separator "\t"
# one runtime's wall times (column 3) at a time: gnuplot smooths each
# contiguous block separately, so the rows must not be interleaved
sel(n) = sprintf("< awk -F'\t' -v n='%s' '$2 == n { print $3 }' '%s'", n, samples)
plot for [n in names] sel(n) using 1:(1.0) smooth cnormal lw 2 title n
unset logscale x
unset xlabel
set xrange [*:*]
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set style data histograms

set title "peak RSS of any process in a cycle"
set ylabel "MiB"
set key off
plot data using ($6/1024):xtic(1) lc rgb "#60a060", \
     '' using ($0):($6/1024):(sprintf("%.1f", $6/1024)) with labels offset 0,0.8 notitle
unset multiplot
