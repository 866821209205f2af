// ufm.hpp included from two translation units (one-definition rule check): this one has main.
#include "ufm.hpp"

double tu_b_compare_dnc_loss();
int tu_b_abi();

int main() {
    ufm::check_abi();
    ufm_compare c = ufm::theory_compare(10, 5, 2, 1.0 / 1024);
    if (c.dnc_loss != tu_b_compare_dnc_loss()) return 1;
    if (tu_b_abi() != UFM_ABI_VERSION) return 1;
    try {
        ufm::theory_compare(1, 5, 2, 0.1);
        return 1;
    } catch (const ufm::Error &e) {
        return e.status() == UFM_STATUS_INVALID_ARGUMENT ? 0 : 1;
    }
}
