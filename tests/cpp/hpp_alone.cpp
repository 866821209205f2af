#include "ufm.hpp"
int ufm_hpp_alone;
