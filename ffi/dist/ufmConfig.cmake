# CMake package config for libufm: find_package(ufm) gives the imported targets
#   ufm::ufm         the shared library (libufm.so)
#   ufm::ufm_static  the static library (libufm.a) with the system libraries it needs
get_filename_component(_ufm_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET ufm::ufm)
  add_library(ufm::ufm SHARED IMPORTED)
  set_target_properties(ufm::ufm PROPERTIES
    IMPORTED_LOCATION "${_ufm_prefix}/lib/libufm.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_ufm_prefix}/include")
endif()
if(NOT TARGET ufm::ufm_static)
  add_library(ufm::ufm_static STATIC IMPORTED)
  set_target_properties(ufm::ufm_static PROPERTIES
    IMPORTED_LOCATION "${_ufm_prefix}/lib/libufm.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_ufm_prefix}/include"
    INTERFACE_LINK_LIBRARIES "pthread;dl;m;rt")
endif()
set(ufm_INCLUDE_DIRS "${_ufm_prefix}/include")
unset(_ufm_prefix)
