# Turns a .cu file into C++ for the CPU emulator (cuda_emulator.h): each
# `Kernel<<<grid, block, smem, stream>>>(args);` (one line, as our launchers
# write them) becomes a cuda_emulator::Launch call, and `extern __shared__`
# arrays point at the block's dynamic shared memory.
s/^([[:space:]]*)([A-Za-z_][A-Za-z0-9_:<>, ]*)<<<(.*)>>>\((.*)\);/\1::cuda_emulator::Launch({\3}, "\2", \2, \4);/
s/^([[:space:]]*)extern __shared__ ([A-Za-z_][A-Za-z0-9_]*) ([A-Za-z_][A-Za-z0-9_]*)\[\];/\1\2* const \3 = static_cast<\2*>(::cuda_emulator::DynamicShared());/
