// The machine's memory bandwidth, measured in the same run as the benchmarks
// that are reported against it.
#pragma once

namespace switchyard::bench {

// Bytes per second of reading a buffer far larger than the caches with every
// OpenMP thread (the access pattern of a decode step: stream the weights once).
double MeasureReadBandwidth();

}  // namespace switchyard::bench
