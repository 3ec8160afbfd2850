# Installation: the programs, the library with its public headers, a CMake
# package (find_package(barrot) -> barrot::barrot), a pkg-config file, man
# pages and bash completion generated from the programs' --help, the docs,
# the systemd units; and a Debian package of all of it (cpack -G DEB).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS barrot EXPORT barrotTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY lib/include/barrot DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT barrotTargets NAMESPACE barrot::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/barrot)
configure_package_config_file(cmake/barrotConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/barrotConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/barrot)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/barrotConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/barrotConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/barrotConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/barrot)
file(RELATIVE_PATH BARROT_PC_TO_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
configure_file(cmake/barrot.pc.in ${CMAKE_CURRENT_BINARY_DIR}/barrot.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/barrot.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The README and every document it links (docs/operations.md, "Installing").
install(FILES README.md CONTRIBUTING.md docs/architecture.md docs/cli.md docs/formats.md
              docs/integrity.md docs/operations.md docs/performance.md docs/security.md
              docs/sql.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

if(BARROT_BUILD_TOOLS)
  install(TARGETS barrot_cli barrot_archive_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  foreach(program barrot barrot-archive)
    install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cli-docs/${program}.bash
            DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
            RENAME ${program})
  endforeach()
  # The units name the installed programs and docs, and the man pages the
  # docs, wherever the prefix puts them: both installed by this script.
  configure_file(cmake/install-units.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/install-units.cmake @ONLY)
  install(SCRIPT ${CMAKE_CURRENT_BINARY_DIR}/install-units.cmake)
endif()

set(CPACK_PACKAGE_NAME barrot)
set(CPACK_PACKAGE_VENDOR "Barrot")
set(CPACK_PACKAGE_CONTACT "Barrot maintainers <barrot@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "transparent record of what an automated system did")
set(CPACK_PACKAGE_DESCRIPTION
    "Barrot records action snapshots and periodic snapshots of system state into an
indexed SQLite store mirrored to JSON files, and lets operators search, analyse,
check the health of, alert on and archive them.")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON) # runtime Depends: from the binaries' libraries
# The -dev side (headers, static library, CMake and pkg-config files) needs
# these to be used; they are small, so one package carries both.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "libsqlitecpp-dev, libsqlite3-dev, nlohmann-json3-dev, libyaml-cpp-dev, libzstd-dev")
include(CPack)
