# Run at install time (install(SCRIPT)): writes sluice.pc for the prefix actually installed to, so
# `cmake --install --prefix X` and CPack's packages (prefix /usr) both get a file that points at themselves.
# Inputs: SLUICE_PC_IN, SLUICE_PC_OUT, PROJECT_DESCRIPTION, PROJECT_VERSION, SLUICE_LIBDIR, SLUICE_INCLUDEDIR.
set(SLUICE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
foreach(kind LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${SLUICE_${kind}}")
    set(SLUICE_PC_${kind} "${SLUICE_${kind}}")
  else()
    set(SLUICE_PC_${kind} "\${prefix}/${SLUICE_${kind}}")
  endif()
endforeach()
configure_file("${SLUICE_PC_IN}" "${SLUICE_PC_OUT}" @ONLY)
