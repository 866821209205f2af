// ufm.hpp included from two translation units: the second one.
#include "ufm.hpp"

double tu_b_compare_dnc_loss() { return ufm::theory_compare(10, 5, 2, 1.0 / 1024).dnc_loss; }
int tu_b_abi() {
    ufm::check_abi();
    return static_cast<int>(ufm_abi_version());
}
