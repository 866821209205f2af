// ufm_plugin.h and ufm.hpp (which includes ufm.h) in one C++ translation unit (the C test
// tests/c/both_headers.c is compiled with the two C headers in either order).
#include "ufm_plugin.h"
#include "ufm.hpp"

double both_headers_cpp(ufm_matrix a, ufm_plugin_matrix b, ufm_plugin_const_matrix c);
double both_headers_cpp(ufm_matrix a, ufm_plugin_matrix b, ufm_plugin_const_matrix c) {
    ufm::Summary s{};
    s.struct_size = sizeof s;
    return static_cast<double>(a.nrows + b.rows + c.cols + s.struct_size) +
           UFM_PLUGIN_ABI_MAJOR + UFM_ABI_VERSION;
}
