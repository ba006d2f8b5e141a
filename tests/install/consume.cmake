# cmake -P script: install sluice (or point at its source), configure and build the consumer, run it.
# MODE=install: the static library from an install prefix; MODE=subdirectory: a shared one from the source tree.
file(REMOVE_RECURSE ${WORK})
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}")
  endif()
endfunction()
if(MODE STREQUAL "install")
  step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK}/prefix)
  step(${CMAKE_COMMAND} -S ${CONSUMER} -B ${WORK}/build -DCMAKE_PREFIX_PATH=${WORK}/prefix -DCMAKE_BUILD_TYPE=Release)
else()
  # A shared libsluice this time (the installed one above is static): built with hidden visibility, it exports
  # only what the public headers mark SLUICE_EXPORT, so a missing mark fails the consumer's link.
  step(${CMAKE_COMMAND} -S ${CONSUMER} -B ${WORK}/build -DSLUICE_SOURCE_DIR=${SOURCE_DIR} -DCMAKE_BUILD_TYPE=Release
       -DBUILD_SHARED_LIBS=ON)
endif()
step(${CMAKE_COMMAND} --build ${WORK}/build -j 2)
step(${WORK}/build/consumer)
