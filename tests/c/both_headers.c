/* ufm.h (the C API) and ufm_plugin.h (the plugin ABI) in one translation unit: no type, enum
 * constant or macro may be defined by both. A host that embeds libufm and also implements a
 * plugin needs both, e.g. to hand a ufm_matrix view to a plugin's ufm_plugin_matrix. */
#include "ufm.h"
#include "ufm_plugin.h"

double both_headers_c(ufm_matrix a, ufm_plugin_matrix b, ufm_plugin_const_matrix c);
double both_headers_c(ufm_matrix a, ufm_plugin_matrix b, ufm_plugin_const_matrix c) {
    ufm_summary s = {.struct_size = sizeof(ufm_summary)};
    return (double)(a.nrows + b.rows + c.cols + s.struct_size) +
           (double)UFM_PLUGIN_ABI_MAJOR + (double)UFM_ABI_VERSION;
}
