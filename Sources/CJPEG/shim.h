// jpeglib.h needs size_t and FILE declared before it.
#include <stdio.h>
#include <jpeglib.h>
