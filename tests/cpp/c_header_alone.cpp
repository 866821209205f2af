#include "ufm.h"
int ufm_header_alone_cpp;
